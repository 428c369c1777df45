package generator

import (
	"go/ast"
	"go/token"
)

// found is a directive attached to the declaration it documents.
type found struct {
	*directive
	fn   *ast.FuncDecl // receiver directives
	spec *ast.TypeSpec // define directives
}

// docOwner is what a doc comment documents.
type docOwner struct {
	fn   *ast.FuncDecl
	gen  *ast.GenDecl // a declaration, or the group a spec is in
	spec ast.Spec     // set when the comment is a spec's own doc
	desc string       // "a var declaration", "type Foo", ...
}

// scanFile finds every //signal: directive in f, and every comment that
// looks like one, in every comment group (not only doc comments), so that
// a misplaced directive or a near miss is reported instead of ignored.
func scanFile(f *ast.File) (receivers, defines []found, diags []diag) {
	docs := map[*ast.CommentGroup]docOwner{}
	for _, decl := range f.Decls {
		switch decl := decl.(type) {
		case *ast.FuncDecl:
			if decl.Doc != nil {
				docs[decl.Doc] = docOwner{fn: decl, desc: "func " + decl.Name.Name}
			}
		case *ast.GenDecl:
			if decl.Doc != nil {
				docs[decl.Doc] = docOwner{gen: decl, desc: genDesc(decl, nil)}
			}
			for _, spec := range decl.Specs {
				var doc *ast.CommentGroup
				switch spec := spec.(type) {
				case *ast.TypeSpec:
					doc = spec.Doc
				case *ast.ValueSpec:
					doc = spec.Doc
				case *ast.ImportSpec:
					doc = spec.Doc
				}
				if doc != nil {
					docs[doc] = docOwner{gen: decl, spec: spec, desc: genDesc(decl, spec)}
				}
			}
		}
	}
	defined := map[*ast.TypeSpec]bool{}
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			d, ds, ours := parseComment(c.Slash, c.Text)
			diags = append(diags, ds...)
			if !ours || d == nil {
				continue
			}
			owner, ok := docs[cg]
			switch d.kind {
			case kindReceiver:
				switch {
				case !ok:
					diags = append(diags, diagf(d.pos, "//signal:receiver is not in the doc comment of a function or method; put it in the doc comment right above the receiver's func"))
				case owner.fn == nil:
					diags = append(diags, diagf(d.pos, "//signal:receiver is on %s; it belongs in the doc comment of a function or method", owner.desc))
				default:
					receivers = append(receivers, found{directive: d, fn: owner.fn})
				}
			case kindDefine:
				spec := owner.typeSpec()
				switch {
				case !ok:
					diags = append(diags, diagf(d.pos, "//signal:define is not in the doc comment of a type; put it right above type Name func(...)"))
				case spec == nil:
					diags = append(diags, diagf(d.pos, "//signal:define is on %s; it belongs in the doc comment of a function type: type Name func(...)", owner.desc))
				case defined[spec]:
					diags = append(diags, diagf(d.pos, "type %s has a second //signal:define; a type defines one signal", spec.Name.Name))
				default:
					defined[spec] = true
					defines = append(defines, found{directive: d, spec: spec})
				}
			}
		}
	}
	return receivers, defines, diags
}

// typeSpec returns the type spec a doc comment documents: the spec's own
// doc, or the doc of a type declaration with exactly one unparenthesized
// spec.
func (o docOwner) typeSpec() *ast.TypeSpec {
	if ts, ok := o.spec.(*ast.TypeSpec); ok {
		return ts
	}
	if o.gen != nil && o.gen.Tok == token.TYPE && len(o.gen.Specs) == 1 && !o.gen.Lparen.IsValid() {
		return o.gen.Specs[0].(*ast.TypeSpec)
	}
	return nil
}

func genDesc(gd *ast.GenDecl, spec ast.Spec) string {
	if spec == nil && len(gd.Specs) == 1 && !gd.Lparen.IsValid() {
		spec = gd.Specs[0]
	}
	switch spec := spec.(type) {
	case *ast.TypeSpec:
		kind := "a type"
		switch spec.Type.(type) {
		case *ast.StructType:
			kind = "a struct type"
		case *ast.InterfaceType:
			kind = "an interface type"
		case *ast.FuncType:
			kind = "a function type"
		}
		return "type " + spec.Name.Name + " (" + kind + ")"
	case *ast.ValueSpec:
		return "a " + gd.Tok.String() + " declaration"
	case *ast.ImportSpec:
		return "an import"
	}
	switch gd.Tok {
	case token.IMPORT:
		return "an import declaration"
	case token.TYPE:
		return "a group of type declarations"
	}
	return "a " + gd.Tok.String() + " declaration"
}
