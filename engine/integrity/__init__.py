"""One person, one entry: detectors of multi-accounting and collusion, and the review queue."""
