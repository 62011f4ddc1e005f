"""Tools for people: the routing table's admin pages, calibration of complexity routes,
and parsing the prompt files they upload."""
