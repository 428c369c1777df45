package generator

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, exported, unexported, snake string
	}{
		{"orderID", "OrderID", "orderID", "order_id"},
		{"orderId", "OrderID", "orderID", "order_id"},
		{"order_id", "OrderID", "orderID", "order_id"},
		{"email", "Email", "email", "email"},
		{"httpURL", "HTTPURL", "httpURL", "http_url"},
		{"HTTPServer", "HTTPServer", "httpServer", "http_server"},
		{"userIds", "UserIds", "userIds", "user_ids"},
		{"line2Items", "Line2Items", "line2Items", "line2_items"},
		{"payment.captured", "PaymentCaptured", "paymentCaptured", "payment_captured"},
		{"payment_process_completed", "PaymentProcessCompleted", "paymentProcessCompleted", "payment_process_completed"},
		{"PaymentProcessCompleted", "PaymentProcessCompleted", "paymentProcessCompleted", "payment_process_completed"},
		{"uuid", "UUID", "uuid", "uuid"},
		{"x", "X", "x", "x"},
		{"größe", "Größe", "größe", "größe"},
	}
	for _, tt := range tests {
		got := []string{exportedName(tt.in), unexportedName(tt.in), snakeName(tt.in)}
		want := []string{tt.exported, tt.unexported, tt.snake}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("names of %q (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestValidSignalName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"payment_captured":  true,
		"payment.captured":  true,
		"order.v2.shipped":  true,
		"a":                 true,
		"a1":                true,
		"":                  false,
		"Payment":           false,
		"2fa":               false,
		"payment-captured":  false,
		"payment..captured": false,
		"payment_":          false,
		"payment._x":        false,
		"_payment":          false,
		"pay ment":          false,
		"über":              false,
	} {
		if got := validSignalName(name); got != want {
			t.Errorf("validSignalName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestCanImport(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		from, path string
		want       bool
	}{
		{"example.com/m/signals/dispatch", "example.com/m/shipping", true},
		{"example.com/m/signals/dispatch", "example.com/m/internal/shipping", true},
		{"example.com/m/signals/dispatch", "example.com/m/app/internal/shipping", false},
		{"example.com/m/app/dispatch", "example.com/m/app/internal/shipping", true},
		{"example.com/m/app/dispatch", "example.com/m/app/internal", true},
		{"example.com/m/signals/dispatch", "example.com/m/app/internal", false},
	} {
		if got := canImport(tt.from, tt.path); got != tt.want {
			t.Errorf("canImport(%q, %q) = %v, want %v", tt.from, tt.path, got, tt.want)
		}
	}
}

func TestWrap(t *testing.T) {
	t.Parallel()
	got := wrap("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen")
	want := []string{"one two three four five six seven eight nine ten eleven twelve thirteen", "fourteen fifteen"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("wrap (-want +got):\n%s", diff)
	}
}

func TestNearMiss(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		dist int
		near bool
	}{
		{"user_signedup", "user_signed_up", 1, true},  // a character left out
		{"user_sigend_up", "user_signed_up", 1, true}, // two swapped
		{"order.placed", "order_placed", 1, true},     // another separator
		{"payment.captrued", "payment.captured", 1, true},
		{"order_plcd", "order_placed", 2, true},
		{"order.paid", "order.placed", 3, false}, // another word
		{"order.paid", "order_placed", 4, false},
		{"ab", "ac", 1, false},                             // short names are all close
		{"user", "users", 1, true},                         // one edit in four characters
		{"abcde", "abxyz", 3, false},                       // too many edits
		{"abcde", "axcye", 2, false},                       // two edits in five characters
		{"abcdef", "axcyef", 2, true},                      // two edits in six
		{"order.v1.shipped", "order.v2.shipped", 0, false}, // versions
		{"order.shipped", "order.v2.shipped", 0, false},
		{"same", "same", 0, false},
	}
	for _, tt := range tests {
		dist, near := nearMiss(tt.a, tt.b)
		if near != tt.near || (tt.dist > 0 && dist != tt.dist) {
			t.Errorf("nearMiss(%q, %q) = %d, %v; want %d, %v", tt.a, tt.b, dist, near, tt.dist, tt.near)
		}
		if d, d2 := editDistance(tt.a, tt.b), editDistance(tt.b, tt.a); d != d2 {
			t.Errorf("editDistance(%q, %q) = %d, but %d the other way round", tt.a, tt.b, d, d2)
		}
	}
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"abc", "abc", 0},
		{"ab", "ba", 1}, {"kitten", "sitting", 3}, {"ca", "abc", 3},
	} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
