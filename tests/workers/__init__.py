"""Many workers on one queue: claims, stale trials, ownership, the parent run, several machines,
searches."""
