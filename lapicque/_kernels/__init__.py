"""Event-driven sparse products: lapicque's native CPU kernel and its form cut across devices."""
