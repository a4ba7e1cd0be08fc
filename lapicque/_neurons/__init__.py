"""Neuron models on one base: the update rule written once, the shared refractory rule, guard and integrator, one file per family."""
