"""Bodies of the verifiable-contest routes: official rules, certificates, verification."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.http.schemas.content import Hex32
from contracts.attestations import Attestation, AttestationStatus
from contracts.certificates import hex32
from notary.contests import OfficialRules


class AttestationCertificateOut(BaseModel):
    """A contest rules or results certificate (see ``contracts.attestations``).

    ``values`` are the leaf in OpenZeppelin's JSON form, encoded as ``leaf_encoding``: rules
    ``[contest_id, rules_sha256]``; results ``[contest_id, user_id, rank, metric,
    prize_points, rules_sha256]``. ``document`` is the canonical rules JSON whose SHA-256 is the
    leaf's last value."""

    version: int
    kind: str
    subject: int
    document: str
    leaf_encoding: list[str]
    values: list[str]
    leaf: Hex32
    proof: list[Hex32]
    root: Hex32
    chain_id: int
    contract_address: str
    tx_hash: Hex32
    block_number: int
    block_hash: Hex32
    block_timestamp: int


class AnchorOut(BaseModel):
    """Where an attestation's root stands on chain."""

    status: AttestationStatus
    root: Hex32
    count: int
    chain_id: int | None
    contract_address: str | None
    tx_hash: str | None
    block_number: int | None
    block_timestamp: int | None
    attempts: int
    last_error: str | None

    @classmethod
    def of(cls, attestation: Attestation) -> AnchorOut:
        return cls(
            status=attestation.status,
            root=hex32(attestation.root),
            count=attestation.count,
            chain_id=attestation.chain_id,
            contract_address=attestation.contract_address,
            tx_hash=attestation.tx_hash,
            block_number=attestation.block_number,
            block_timestamp=attestation.block_timestamp,
            attempts=attestation.attempts,
            last_error=attestation.last_error,
        )


class OfficialRulesOut(BaseModel):
    contest_id: int
    rules: dict[str, Any] = Field(description="The locked rules (the document, parsed)")
    document: str = Field(description="The canonical JSON text that was hashed and anchored")
    sha256: Hex32
    locked_at: datetime
    anchor: AnchorOut | None = Field(description="Null until the notary job attests the rules")
    certificate: AttestationCertificateOut | None = Field(description="Once anchored")

    @classmethod
    def of(cls, found: OfficialRules) -> OfficialRulesOut:
        snapshot = found.snapshot
        return cls(
            contest_id=snapshot.contest_id,
            rules=json.loads(snapshot.document),
            document=snapshot.document,
            sha256=hex32(snapshot.sha256),
            locked_at=snapshot.locked_at,
            anchor=None if found.attestation is None else AnchorOut.of(found.attestation),
            certificate=None
            if found.certificate is None
            else AttestationCertificateOut(**found.certificate.to_json()),
        )


class ContestCertificateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    certificate: dict[str, Any] = Field(description="A contest rules or results certificate")
