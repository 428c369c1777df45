package dispatch

// countArgs is hand-written: the struct that receiver hooks.Count decodes
// into gets another name.
type countArgs struct{}
