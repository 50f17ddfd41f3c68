"""Tables and figures: driving-force tables, writers and readers, NWB export, plots."""
