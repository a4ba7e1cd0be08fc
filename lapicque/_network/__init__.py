"""The layer above the neurons: synapses, plasticity, outputs, inputs, projections, connectivity, delays."""
