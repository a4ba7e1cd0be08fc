"""The lapicque command's values, input protocols and the demo network."""
