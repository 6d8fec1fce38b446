package secure

import "testing"

func TestMaskPhone(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"mobile", "13812345678", "138****5678"},
		{"empty", "", ""},
		{"short masks fully", "1381234", "*******"},
		{"ten characters masks fully", "1381234567", "**********"},
		{"longer keeps 3 and 4", "+8613812345678", "+86*******5678"},
		{"non-ascii is not split", "电话13812345678", "电话1******5678"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := MaskPhone(tc.in); got != tc.want {
				t.Fatalf("MaskPhone(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestMaskIDNumber(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"18-digit", "440106195001011234", "4401**********1234"},
		{"check digit X", "11010519491231002X", "1101**********002X"},
		{"old 15-digit", "440106500101123", "4401*******1123"},
		{"empty", "", ""},
		{"short masks fully", "44010619500", "***********"},
		{"fourteen characters masks fully", "44010619500101", "**************"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := MaskIDNumber(tc.in); got != tc.want {
				t.Fatalf("MaskIDNumber(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
