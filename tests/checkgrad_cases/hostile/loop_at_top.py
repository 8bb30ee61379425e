"""Loops forever while loading."""
while True:
    pass
