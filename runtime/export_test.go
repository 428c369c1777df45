package signalrt

// WithTestEvents returns cfg with f told of the worker's events
// ("registered", "claimed", "recorded"), so that tests can wait for the
// runtime instead of polling on a clock.
func WithTestEvents(cfg Config, f func(event string)) Config {
	cfg.testEvents = f
	return cfg
}
