package generator

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/types"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// shape is the JSON shape of a Go type: what encoding/json writes for it
// and reads into it. Named types are transparent (a renamed type with the
// same shape has the same contract), except those that encode or decode
// themselves (time.Time, types with MarshalJSON, UnmarshalJSON, MarshalText
// or UnmarshalText), which are opaque and named, and json.RawMessage, which takes any JSON.
type shape struct {
	kind   string       // see shapeKinds; a basic kind is the Go name: int64, string, ...
	name   string       // opaque, ref: the Go type, as path.Name
	n      int64        // array: the length
	elem   *shape       // ptr, slice, array, map (the value), quoted (the quoted value)
	key    *shape       // map
	fields []shapeField // struct, sorted by name
}

// shapeField is one field of a struct shape: its JSON key and shape.
type shapeField struct {
	name string
	s    *shape
}

// The kinds of shape that are not basic Go kinds.
const (
	kPtr    = "*"
	kSlice  = "[]"
	kArray  = "array"
	kMap    = "map"
	kStruct = "struct"
	kQuoted = "quoted" // string(int64): a field with the ,string option
	kBytes  = "bytes"  // []byte: a base64 string
	kRaw    = "raw"    // json.RawMessage: any JSON
	kOpaque = "opaque" // opaque("time.Time")
	kRef    = "ref"    // ref("example.com/m.Tree"): a recursive type, inside itself
)

// String is the canonical text of s:
//
//	{"lines" []{"qty" int, "sku" string}, "order_id" int64, "at" opaque("time.Time")}
func (s *shape) String() string {
	var b strings.Builder
	s.write(&b)
	return b.String()
}

func (s *shape) write(b *strings.Builder) {
	switch s.kind {
	case kPtr, kSlice:
		b.WriteString(s.kind)
		s.elem.write(b)
	case kArray:
		fmt.Fprintf(b, "[%d]", s.n)
		s.elem.write(b)
	case kMap:
		b.WriteString("map[")
		s.key.write(b)
		b.WriteString("]")
		s.elem.write(b)
	case kQuoted:
		b.WriteString("string(")
		s.elem.write(b)
		b.WriteString(")")
	case kOpaque, kRef:
		b.WriteString(s.kind + "(" + strconv.Quote(s.name) + ")")
	case kStruct:
		b.WriteString("{")
		for i, f := range s.fields {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(f.name) + " ")
			f.s.write(b)
		}
		b.WriteString("}")
	default:
		b.WriteString(s.kind)
	}
}

// fingerprint is the short stable hash of a canonical contract text, as
// the contract file and the dispatch table's Receiver.Contract carry it.
func fingerprint(text string) string {
	sum := sha256.Sum256([]byte(text))
	return "sha256:" + hex.EncodeToString(sum[:])[:16]
}

// receiverFingerprint is the contract fingerprint of the receiver with
// key key that reads the fields reads (JSON names) of a payload of shape
// payload: the fingerprint of the key, a space, and the canonical text of
// the struct of only those fields, which is what the receiver decodes.
//
// The workers publish it as the receiver's Receiver.Contract, and leave a
// task that they cannot decode to a live worker with another contract for
// the task's receiver (see the runtime's Config.OrphanGrace). So it must
// differ wherever two versions of a receiver decode differently, and
// should not differ where they decode alike: a change to a field that the
// receiver does not read leaves it alone. The key makes it differ between
// receivers, since the runtime compares a task's declined contracts with
// all of a worker's contracts, not only with its receiver's: two receivers
// that read alike would otherwise look like one decoder.
func receiverFingerprint(key string, payload *shape, reads []string) string {
	return fingerprint(key + " " + payload.only(reads).String())
}

// only returns the struct shape s with only the fields named in names.
func (s *shape) only(names []string) *shape {
	out := &shape{kind: kStruct}
	for _, f := range s.fields {
		for _, n := range names {
			if f.name == n {
				out.fields = append(out.fields, f)
				break
			}
		}
	}
	return out
}

// shaper computes shapes; it remembers the named types it is inside, so
// that recursive types end.
type shaper struct {
	inside map[*types.Named]bool
}

// shapeOf returns the JSON shape of t.
func shapeOf(t types.Type) *shape {
	return (&shaper{inside: map[*types.Named]bool{}}).of(t)
}

func (c *shaper) of(t types.Type) *shape {
	switch t := t.(type) {
	case *types.Alias:
		return c.of(types.Unalias(t))
	case *types.Named:
		name := qualifiedName(t)
		if name == "encoding/json.RawMessage" {
			return &shape{kind: kRaw}
		}
		if decodesItself(t) || encodesItself(t) {
			return &shape{kind: kOpaque, name: name}
		}
		if c.inside[t] {
			return &shape{kind: kRef, name: name}
		}
		c.inside[t] = true
		defer delete(c.inside, t)
		return c.of(t.Underlying())
	case *types.Basic:
		return &shape{kind: basicName(t)}
	case *types.Pointer:
		return &shape{kind: kPtr, elem: c.of(t.Elem())}
	case *types.Slice:
		if b, ok := t.Elem().(*types.Basic); ok && b.Kind() == types.Byte {
			return &shape{kind: kBytes}
		}
		if n, ok := types.Unalias(t.Elem()).(*types.Named); ok && !decodesItself(n) {
			if b, ok := n.Underlying().(*types.Basic); ok && b.Kind() == types.Byte {
				return &shape{kind: kBytes}
			}
		}
		return &shape{kind: kSlice, elem: c.of(t.Elem())}
	case *types.Array:
		return &shape{kind: kArray, n: t.Len(), elem: c.of(t.Elem())}
	case *types.Map:
		key := t.Key()
		var ks *shape
		if b, ok := key.Underlying().(*types.Basic); ok && !decodesItself(key) {
			ks = &shape{kind: basicName(b)}
		} else {
			ks = c.of(key)
		}
		return &shape{kind: kMap, key: ks, elem: c.of(t.Elem())}
	case *types.Struct:
		return &shape{kind: kStruct, fields: c.fields(t)}
	}
	// The JSON check rejects everything else before contracts are made.
	return &shape{kind: kOpaque, name: types.TypeString(t, nil)}
}

// basicName is the name of a basic kind, byte and rune written as uint8
// and int32.
func basicName(b *types.Basic) string { return types.Typ[b.Kind()].Name() }

// qualifiedName is path.Name of a named type, with its type arguments.
func qualifiedName(t *types.Named) string {
	return types.TypeString(t, func(p *types.Package) string { return p.Path() })
}

// fields returns the JSON fields of a struct as encoding/json sees them:
// tagged names, embedded structs flattened, a shallower field hiding a
// deeper one, and among fields of equal depth a tagged one hiding the
// others (or all of them dropped).
func (c *shaper) fields(st *types.Struct) []shapeField {
	type cand struct {
		name   string
		depth  int
		tagged bool
		s      *shape
	}
	var all []cand
	var walk func(st *types.Struct, depth int, seen map[*types.Struct]bool)
	walk = func(st *types.Struct, depth int, seen map[*types.Struct]bool) {
		if seen[st] {
			return
		}
		seen[st] = true
		for i := 0; i < st.NumFields(); i++ {
			f := st.Field(i)
			tag := reflect.StructTag(st.Tag(i)).Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			ft := f.Type()
			if f.Embedded() && name == "" {
				inner := ft
				if p, ok := types.Unalias(inner).(*types.Pointer); ok {
					inner = p.Elem()
				}
				if s, ok := inner.Underlying().(*types.Struct); ok && !decodesItself(inner) {
					walk(s, depth+1, seen)
					continue
				}
			}
			if !f.Exported() {
				continue
			}
			tagged := name != ""
			if !tagged {
				name = f.Name()
			}
			s := c.of(ft)
			if hasOpt(opts, "string") && quotable(s) {
				s = &shape{kind: kQuoted, elem: s}
			}
			all = append(all, cand{name, depth, tagged, s})
		}
	}
	walk(st, 0, map[*types.Struct]bool{})
	byName := map[string][]cand{}
	var names []string
	for _, f := range all {
		if byName[f.name] == nil {
			names = append(names, f.name)
		}
		byName[f.name] = append(byName[f.name], f)
	}
	sort.Strings(names)
	var out []shapeField
	for _, n := range names {
		cs := byName[n]
		min := cs[0].depth
		for _, f := range cs {
			min = minInt(min, f.depth)
		}
		var top []cand
		for _, f := range cs {
			if f.depth == min {
				top = append(top, f)
			}
		}
		if len(top) > 1 {
			var tagged []cand
			for _, f := range top {
				if f.tagged {
					tagged = append(tagged, f)
				}
			}
			top = tagged
		}
		if len(top) == 1 {
			out = append(out, shapeField{n, top[0].s})
		}
	}
	return out
}

func minInt(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func hasOpt(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// quotable reports whether the ,string option applies to s: strings,
// numbers and booleans, possibly behind one pointer.
func quotable(s *shape) bool {
	if s.kind == kPtr {
		s = s.elem
	}
	return s.kind == "string" || s.kind == "bool" || numberRange(s.kind) != nil
}

// payloadShape is the shape of a signal's payload struct: one field per
// argument, keyed by its JSON name.
func (s *signal) payloadShape() *shape {
	st := &shape{kind: kStruct}
	for _, a := range s.args {
		st.fields = append(st.fields, shapeField{a.jsonName(), shapeOf(a.typ)})
	}
	sort.Slice(st.fields, func(i, j int) bool { return st.fields[i].name < st.fields[j].name })
	return st
}

// parseShape parses the canonical text of a shape.
func parseShape(text string) (*shape, error) {
	p := &shapeParser{s: text}
	s, err := p.shape()
	if err != nil {
		return nil, err
	}
	if p.s != "" {
		return nil, fmt.Errorf("unexpected %q after the type", p.s)
	}
	return s, nil
}

type shapeParser struct{ s string }

func (p *shapeParser) eat(prefix string) bool {
	if strings.HasPrefix(p.s, prefix) {
		p.s = p.s[len(prefix):]
		return true
	}
	return false
}

func (p *shapeParser) quoted() (string, error) {
	q, err := strconv.QuotedPrefix(p.s)
	if err != nil {
		return "", fmt.Errorf("expected a quoted name at %q", p.s)
	}
	p.s = p.s[len(q):]
	return strconv.Unquote(q)
}

func (p *shapeParser) shape() (*shape, error) {
	switch {
	case p.eat("*"):
		e, err := p.shape()
		return &shape{kind: kPtr, elem: e}, err
	case p.eat("[]"):
		e, err := p.shape()
		return &shape{kind: kSlice, elem: e}, err
	case p.eat("["):
		i := strings.IndexByte(p.s, ']')
		if i < 0 {
			return nil, fmt.Errorf("unterminated array length at %q", p.s)
		}
		n, err := strconv.ParseInt(p.s[:i], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad array length %q", p.s[:i])
		}
		p.s = p.s[i+1:]
		e, err := p.shape()
		return &shape{kind: kArray, n: n, elem: e}, err
	case p.eat("map["):
		k, err := p.shape()
		if err != nil {
			return nil, err
		}
		if !p.eat("]") {
			return nil, fmt.Errorf("expected ] at %q", p.s)
		}
		e, err := p.shape()
		return &shape{kind: kMap, key: k, elem: e}, err
	case p.eat("string("):
		e, err := p.shape()
		if err == nil && !p.eat(")") {
			err = fmt.Errorf("expected ) at %q", p.s)
		}
		return &shape{kind: kQuoted, elem: e}, err
	case strings.HasPrefix(p.s, "opaque("), strings.HasPrefix(p.s, "ref("):
		kind, _, _ := strings.Cut(p.s, "(")
		p.s = p.s[len(kind)+1:]
		if !strings.HasPrefix(p.s, "\"") {
			return nil, fmt.Errorf("expected a quoted type name at %q", p.s)
		}
		name, err := p.quoted()
		if err == nil && !p.eat(")") {
			err = fmt.Errorf("expected ) at %q", p.s)
		}
		return &shape{kind: kind, name: name}, err
	case p.eat("{"):
		st := &shape{kind: kStruct}
		for !p.eat("}") {
			if len(st.fields) > 0 && !p.eat(", ") {
				return nil, fmt.Errorf("expected , or } at %q", p.s)
			}
			name, err := p.quoted()
			if err != nil {
				return nil, err
			}
			if !p.eat(" ") {
				return nil, fmt.Errorf("expected a space after %q", name)
			}
			f, err := p.shape()
			if err != nil {
				return nil, err
			}
			st.fields = append(st.fields, shapeField{name, f})
		}
		return st, nil
	}
	i := 0
	for i < len(p.s) && (p.s[i] >= 'a' && p.s[i] <= 'z' || p.s[i] >= '0' && p.s[i] <= '9') {
		i++
	}
	word := p.s[:i]
	switch {
	case word == kBytes || word == kRaw || word == "bool" || word == "string" || numberRange(word) != nil:
		p.s = p.s[i:]
		return &shape{kind: word}, nil
	}
	return nil, fmt.Errorf("unknown type at %q", p.s)
}
