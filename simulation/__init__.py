"""The season simulation behind ``paperleague simulate`` and ``make demo``: members, engagement,
contests and content over one season, through the same services the HTTP API uses."""

from simulation.model import MarketChoice, SimulationConfig, SimulationResult
from simulation.run import simulate

__all__ = ["MarketChoice", "SimulationConfig", "SimulationResult", "simulate"]
