// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ContentRegistry
/// @notice Anchors the Merkle roots of batches of content certificates. Anchoring stores the
///         block timestamp for the root, so a certificate's time comes from the chain, not from
///         the server that issued it. Anyone can check a proof against an anchored root with
///         `verify`, which hashes pairs exactly as OpenZeppelin's `MerkleProof.verify` does.
contract ContentRegistry {
    /// @notice The account that grants and revokes the anchorer role.
    address public owner;

    mapping(address account => bool) private _anchorers;
    mapping(bytes32 root => uint256 timestamp) private _anchoredAt;

    event Anchored(bytes32 indexed root, uint32 count, address anchorer);
    event AnchorerGranted(address indexed account);
    event AnchorerRevoked(address indexed account);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    error NotOwner(address account);
    error NotAnchorer(address account);
    error AlreadyAnchored(bytes32 root);
    error EmptyBatch();
    error ZeroRoot();
    error ZeroAddress();

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @notice The deployer becomes the owner and the first anchorer.
    constructor() {
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
        _anchorers[msg.sender] = true;
        emit AnchorerGranted(msg.sender);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    function grantAnchorer(address account) external onlyOwner {
        if (account == address(0)) revert ZeroAddress();
        _anchorers[account] = true;
        emit AnchorerGranted(account);
    }

    function revokeAnchorer(address account) external onlyOwner {
        _anchorers[account] = false;
        emit AnchorerRevoked(account);
    }

    function isAnchorer(address account) external view returns (bool) {
        return _anchorers[account];
    }

    /// @notice Records `root` (a Merkle root over `count` leaves) at the current block time.
    function anchor(bytes32 root, uint32 count) external {
        if (!_anchorers[msg.sender]) revert NotAnchorer(msg.sender);
        if (root == bytes32(0)) revert ZeroRoot();
        if (count == 0) revert EmptyBatch();
        if (_anchoredAt[root] != 0) revert AlreadyAnchored(root);
        _anchoredAt[root] = block.timestamp;
        emit Anchored(root, count, msg.sender);
    }

    /// @notice The timestamp (seconds) of the block that anchored `root`, or 0 if never anchored.
    function anchoredAt(bytes32 root) external view returns (uint256) {
        return _anchoredAt[root];
    }

    /// @notice True when `proof` leads from `leaf` to `root` with sorted-pair keccak256 hashing
    ///         (OpenZeppelin `MerkleProof.verify`); it does not require `root` to be anchored.
    function verify(bytes32[] calldata proof, bytes32 root, bytes32 leaf)
        external
        pure
        returns (bool)
    {
        bytes32 computed = leaf;
        for (uint256 i = 0; i < proof.length; ++i) {
            computed = _hashPair(computed, proof[i]);
        }
        return computed == root;
    }

    function _hashPair(bytes32 a, bytes32 b) private pure returns (bytes32 value) {
        (bytes32 low, bytes32 high) = a < b ? (a, b) : (b, a);
        assembly ("memory-safe") {
            mstore(0x00, low)
            mstore(0x20, high)
            value := keccak256(0x00, 0x40)
        }
    }
}
