package notify

import (
	"slices"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	l := New(time.Hour)
	if got := l.Due([]string{"a", "b", "a"}); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("first sends: %v, want a and b once each", got)
	}
	if got := l.Due([]string{"a", "c"}); !slices.Equal(got, []string{"c"}) {
		t.Errorf("within the interval: %v, want c only", got)
	}
	if prev := l.SetInterval(0); prev != time.Hour {
		t.Errorf("SetInterval returned %v, want the hour it replaced", prev)
	}
	if got := l.Due([]string{"a"}); !slices.Equal(got, []string{"a"}) {
		t.Errorf("interval 0: %v, want every send to notify", got)
	}
}
