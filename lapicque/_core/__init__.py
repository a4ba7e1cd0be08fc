"""The ground floor: errors, units, the environment's dt and t, parameter and state declarations, the input registry, atomic files."""
