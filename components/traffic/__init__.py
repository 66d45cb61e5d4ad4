"""Traffic policy between services (Istio DestinationRules and VirtualServices)."""
