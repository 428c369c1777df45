package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// runGen times signalgen against go vet on a synthetic module.
func runGen(ctx context.Context, o *options) (line, error) {
	root, err := repoRoot(ctx, o)
	if err != nil {
		return line{}, err
	}
	if _, err := os.Stat(filepath.Join(root, "generator", "internal", "synth")); err != nil {
		return line{}, errors.New("generator/internal/synth does not exist yet: cannot build the synthetic module")
	}
	return line{}, errors.New("gen: not implemented")
}
