"""Bot strategies: simple trading styles that see only what the clock has revealed.

``views`` (what a strategy sees: ``MarketView``, ``MarketHistory``, ``Holdings``, ``Strategy``),
``sizing`` (whole lots within the buying power), ``styles`` and ``over_trader`` (the six
styles) and ``driver`` (``BotDriver``: bots on an in-memory venue).
"""
