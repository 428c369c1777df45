package generator

// numRange is the range of values a JSON number may take to decode into a
// Go number kind.
type numRange struct {
	float    bool
	signed   bool
	bits     int // of the integer, or of the float's mantissa precision class
	unsigned bool
}

// numberRange returns the range of a basic number kind, or nil when kind is
// not a number.
func numberRange(kind string) *numRange {
	switch kind {
	case "int8":
		return &numRange{signed: true, bits: 8}
	case "int16":
		return &numRange{signed: true, bits: 16}
	case "int32", "rune":
		return &numRange{signed: true, bits: 32}
	case "int", "int64":
		return &numRange{signed: true, bits: 64}
	case "uint8", "byte":
		return &numRange{unsigned: true, bits: 8}
	case "uint16":
		return &numRange{unsigned: true, bits: 16}
	case "uint32":
		return &numRange{unsigned: true, bits: 32}
	case "uint", "uint64", "uintptr":
		return &numRange{unsigned: true, bits: 64}
	case "float32":
		return &numRange{float: true, bits: 32}
	case "float64":
		return &numRange{float: true, bits: 64}
	}
	return nil
}

// holds reports whether every number that decodes into old decodes into
// new.
func (new *numRange) holds(old *numRange) bool {
	switch {
	case new.float:
		return !old.float || new.bits >= old.bits
	case old.float:
		return false
	case new.signed && old.signed:
		return new.bits >= old.bits
	case new.unsigned && old.unsigned:
		return new.bits >= old.bits
	case new.signed && old.unsigned:
		return new.bits > old.bits
	}
	return false // signed into unsigned: negative numbers fail
}
