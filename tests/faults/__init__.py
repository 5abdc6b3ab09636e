"""Faults and hostile inputs: stores refused, lost or full, interrupts, failures after the start,
and the record that holds whatever happens."""
