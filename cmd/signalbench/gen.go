package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/reliablesignals/signals/internal/synth"
)

// repoRoot returns the root of the signals module: -repo, or the directory
// of the go.mod that go env GOMOD reports from the working directory.
func repoRoot(ctx context.Context, o *options) (string, error) {
	if o.repo != "" {
		return o.repo, nil
	}
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the signals module: run from its checkout or pass -repo")
	}
	return filepath.Dir(mod), nil
}

// runGen times signalgen against go vet ./... on a synthetic module of
// o.genPackages packages and o.genRecv receivers (internal/synth). Both
// run as commands, as a user runs them, with warm caches: one untimed run
// of each first (which also writes the generated code), then o.genRuns
// timed runs of each, alternating. It reports the medians and their ratio.
//
// go vet caches its results per package, so a warm go vet ./... mostly
// checks its cache; signalgen has no such cache and loads, checks and
// renders every time (writing only files whose bytes changed).
func runGen(ctx context.Context, o *options) (line, error) {
	root, err := repoRoot(ctx, o)
	if err != nil {
		return line{}, err
	}
	tmp, err := os.MkdirTemp("", "signalbench-gen-")
	if err != nil {
		return line{}, err
	}
	defer os.RemoveAll(tmp)
	mod := filepath.Join(tmp, "synth")
	if err := synth.Write(mod, o.genPackages, o.genRecv); err != nil {
		return line{}, err
	}
	bin := filepath.Join(tmp, "signalgen")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/signalgen")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return line{}, fmt.Errorf("building signalgen: %v\n%s", err, out)
	}
	env := append(os.Environ(), "GOWORK=off")
	timed := func(name string, args ...string) (time.Duration, error) {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir, cmd.Env = mod, env
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
		}
		return time.Since(start), nil
	}
	gen := func() (time.Duration, error) { return timed(bin) }
	vet := func() (time.Duration, error) { return timed("go", "vet", "./...") }
	progress(o, "gen: %d packages, %d receivers in %s; warming up", o.genPackages, o.genRecv, mod)
	for _, f := range []func() (time.Duration, error){gen, vet} {
		if _, err := f(); err != nil {
			return line{}, err
		}
	}
	var gens, vets []time.Duration
	for range o.genRuns {
		g, err := gen()
		if err != nil {
			return line{}, err
		}
		v, err := vet()
		if err != nil {
			return line{}, err
		}
		gens, vets = append(gens, g), append(vets, v)
	}
	slices.Sort(gens)
	slices.Sort(vets)
	mg, mv := gens[len(gens)/2], vets[len(vets)/2]
	l := newLine("gen")
	l.add("packages", o.genPackages)
	l.add("receivers", o.genRecv)
	l.add("runs", o.genRuns)
	l.add("signalgen_s", mg)
	l.add("go_vet_s", mv)
	l.add("ratio", mg.Seconds()/mv.Seconds())
	return l, nil
}
