"""lapicque.simulate: arguments, the module tree, the compiled loop, recording, the cache, compile options, progress, layouts."""
