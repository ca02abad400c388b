def clamp(value, low, high):
    """Return value limited to the range [low, high]."""
    if value < low:
        return low
    <|mask:12|>
    return value
