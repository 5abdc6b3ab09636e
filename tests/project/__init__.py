"""The project stays true to itself: the package map and the docs."""
