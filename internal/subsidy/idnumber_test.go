package subsidy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
	"pgregory.net/rapid"
)

// mod11_2 computes the ISO 7064 MOD 11-2 check character by the standard's recursive method
// (p = 2*(p + digit) mod 11), written independently of the weight table in idnumber.go.
func mod11_2(body string) byte {
	p := 0
	for i := 0; i < len(body); i++ {
		p = (p + int(body[i]-'0')) * 2 % 11
	}
	c := (12 - p) % 11
	if c == 10 {
		return 'X'
	}
	return byte('0' + c)
}

// withCheck completes 17 digits with their check character.
func withCheck(body string) string { return body + string(mod11_2(body)) }

// breakCheck returns number with a wrong check character.
func breakCheck(number string) string {
	wrong := byte('0')
	if number[17] == '0' {
		wrong = '1'
	}
	return number[:17] + string(wrong)
}

func TestCheckAlgorithmAgainstPublishedExample(t *testing.T) {
	// 11010519491231002X is the example number published with GB 11643-1999.
	if got := withCheck("11010519491231002"); got != "11010519491231002X" {
		t.Fatalf("independent MOD 11-2 gives %s, want 11010519491231002X", got)
	}
}

func TestParseIDNumber(t *testing.T) {
	guangzhou := withCheck("44010619500101123")
	tests := []struct {
		name      string
		in        string
		want      string // the Reveal()ed number; "" means rejected
		wantBirth civil.Date
		wantErr   string // fragment of the detail when rejected
	}{
		{"published example", "11010519491231002X", "11010519491231002X", civil.Date{Year: 1949, Month: 12, Day: 31}, ""},
		{"lowercase x", "11010519491231002x", "11010519491231002X", civil.Date{Year: 1949, Month: 12, Day: 31}, ""},
		{"surrounding spaces", "  " + guangzhou + "\n", guangzhou, civil.Date{Year: 1950, Month: 1, Day: 1}, ""},
		{"leap day 2000", withCheck("31011520000229001"), withCheck("31011520000229001"), civil.Date{Year: 2000, Month: 2, Day: 29}, ""},
		{"year 1900", withCheck("51010719000101002"), withCheck("51010719000101002"), civil.Date{Year: 1900, Month: 1, Day: 1}, ""},
		{"wrong check digit", breakCheck(guangzhou), "", civil.Date{}, "check digit"},
		{"wrong check X", "110105194912310021", "", civil.Date{}, "check digit"},
		{"one digit changed", "11010519491231003X", "", civil.Date{}, "check digit"},
		{"year 1899", withCheck("44010618991231123"), "", civil.Date{}, "birth date"},
		{"1900 is not a leap year", withCheck("44010619000229123"), "", civil.Date{}, "birth date"},
		{"february 30", withCheck("44010619500230123"), "", civil.Date{}, "birth date"},
		{"month 13", withCheck("44010619501301123"), "", civil.Date{}, "birth date"},
		{"day 0", withCheck("44010619500100123"), "", civil.Date{}, "birth date"},
		{"region starts with 0", withCheck("04010619500101123"), "", civil.Date{}, "region"},
		{"17 characters", guangzhou[:17], "", civil.Date{}, "18"},
		{"19 characters", guangzhou + "1", "", civil.Date{}, "18"},
		{"old 15-digit number", "440106500101123", "", civil.Date{}, "18"},
		{"empty", "", "", civil.Date{}, "18"},
		{"X inside", "1101051949123100X2", "", civil.Date{}, "17"},
		{"letter", "1101051949A231002X", "", civil.Date{}, "17"},
		{"inner space", "110105 949123100 X", "", civil.Date{}, "17"},
		{"full-width digits", "１１０１０５１９", "", civil.Date{}, "18"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := ParseIDNumber(tc.in)
			if tc.want == "" {
				if !errors.Is(err, ErrIDNumberInvalid) || apperr.KindOf(err) != apperr.Invalid {
					t.Fatalf("ParseIDNumber(%q) = %v, %v; want ErrIDNumberInvalid", tc.in, id.Reveal(), err)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %q does not mention %q", err, tc.wantErr)
				}
				if s := strings.TrimSpace(tc.in); len(s) > 4 && strings.Contains(err.Error(), s) {
					t.Fatalf("error %q repeats the number", err)
				}
				if !id.IsZero() {
					t.Fatalf("rejected input returned %q", id.Reveal())
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseIDNumber(%q): %v", tc.in, err)
			}
			if id.Reveal() != tc.want {
				t.Fatalf("Reveal() = %q, want %q", id.Reveal(), tc.want)
			}
			if id.BirthDate() != tc.wantBirth {
				t.Fatalf("BirthDate() = %v, want %v", id.BirthDate(), tc.wantBirth)
			}
		})
	}
}

func TestParseIDNumberOn(t *testing.T) {
	today := civil.Date{Year: 2026, Month: 11, Day: 28}
	tests := []struct {
		name string
		body string
		ok   bool
	}{
		{"born yesterday", "44010620261127123", true},
		{"born today", "44010620261128123", true},
		{"born tomorrow", "44010620261129123", false},
		{"born next year", "44010620270101123", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseIDNumberOn(withCheck(tc.body), today)
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "future") {
				t.Fatalf("error %q does not say future", err)
			}
		})
	}
	if _, err := ParseIDNumberOn("bad", today); !errors.Is(err, ErrIDNumberInvalid) {
		t.Fatalf("ParseIDNumberOn does not validate: %v", err)
	}
}

func TestIDNumberNeverPrintsInFull(t *testing.T) {
	id, err := ParseIDNumber("11010519491231002X")
	if err != nil {
		t.Fatal(err)
	}
	const masked = "1101**********002X"
	if id.String() != masked {
		t.Fatalf("String() = %q, want %q", id.String(), masked)
	}
	if fmt.Sprint(id) != masked {
		t.Fatalf("fmt.Sprint = %q, want %q", fmt.Sprint(id), masked)
	}
	type diner struct {
		Name string
		ID   IDNumber
		Ptr  *IDNumber
	}
	var jsonLog, textLog bytes.Buffer
	slog.New(slog.NewJSONHandler(&jsonLog, nil)).Info("x", "id", id, "diner", diner{"张三", id, &id})
	slog.New(slog.NewTextHandler(&textLog, nil)).Info("x", "id", id, "diner", diner{"张三", id, &id})
	js, _ := json.Marshal(diner{"张三", id, &id})
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", id), "%+v": fmt.Sprintf("%+v", id), "%#v": fmt.Sprintf("%#v", id),
		"%s": fmt.Sprintf("%s", id), "%q": fmt.Sprintf("%q", id), "%x": fmt.Sprintf("%x", id),
		"%d": fmt.Sprintf("%d", id), "%20s": fmt.Sprintf("%20s", id),
		"struct %+v": fmt.Sprintf("%+v", diner{"张三", id, &id}),
		"struct %#v": fmt.Sprintf("%#v", diner{"张三", id, &id}),
		"pointer":    fmt.Sprintf("%v", &id),
		"error":      fmt.Errorf("register diner %v: %w", id, errors.New("x")).Error(),
		"slog json":  jsonLog.String(),
		"slog text":  textLog.String(),
		"json":       string(js),
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			if strings.Contains(out, "19491231") || strings.Contains(out, id.Reveal()) {
				t.Fatalf("%s output %q reveals the number", name, out)
			}
			if !strings.Contains(out, masked) {
				t.Fatalf("%s output %q does not show the masked form", name, out)
			}
		})
	}
	if got := fmt.Sprint(IDNumber{}); got != "" {
		t.Fatalf("zero IDNumber prints %q", got)
	}
}

// genIDBody draws 17 digits with a valid region (not starting with 0) and birth date.
func genIDBody() *rapid.Generator[string] {
	return rapid.Custom(func(t *rapid.T) string {
		region := rapid.IntRange(100000, 999999).Draw(t, "region")
		birth := civil.Date{Year: 1900, Month: time.January, Day: 1}.AddDays(rapid.IntRange(0, 60000).Draw(t, "days"))
		seq := rapid.IntRange(0, 999).Draw(t, "seq")
		return fmt.Sprintf("%06d%04d%02d%02d%03d", region, birth.Year, int(birth.Month), birth.Day, seq)
	})
}

func TestIDNumberProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		body := genIDBody().Draw(t, "body")
		number := withCheck(body)
		id, err := ParseIDNumber(number)
		if err != nil {
			t.Fatalf("valid %s rejected: %v", number, err)
		}
		if id.Reveal() != number {
			t.Fatalf("Reveal = %s, want %s", id.Reveal(), number)
		}
		b := id.BirthDate()
		if got := fmt.Sprintf("%04d%02d%02d", b.Year, int(b.Month), b.Day); got != body[6:14] {
			t.Fatalf("BirthDate %v does not match %s", b, body[6:14])
		}

		// MOD 11-2 catches every single-digit substitution.
		pos := rapid.IntRange(0, 16).Draw(t, "pos")
		delta := byte(rapid.IntRange(1, 9).Draw(t, "delta"))
		changed := []byte(number)
		changed[pos] = '0' + (changed[pos]-'0'+delta)%10
		if _, err := ParseIDNumber(string(changed)); !errors.Is(err, ErrIDNumberInvalid) {
			t.Fatalf("%s (digit %d changed from %s) accepted", changed, pos, number)
		}
		// ... and every transposition of two different adjacent characters.
		i := rapid.IntRange(0, 16).Draw(t, "i")
		if number[i] != number[i+1] {
			swapped := []byte(number)
			swapped[i], swapped[i+1] = swapped[i+1], swapped[i]
			if _, err := ParseIDNumber(string(swapped)); !errors.Is(err, ErrIDNumberInvalid) {
				t.Fatalf("%s (transposed at %d from %s) accepted", swapped, i, number)
			}
		}
	})
}

func FuzzParseIDNumber(f *testing.F) {
	for _, s := range []string{
		"11010519491231002X", "11010519491231002x", "440106195001011234", withCheck("31011520000229001"),
		"", "X", "000000000000000000", "99999999999999999X", " 11010519491231002X ", "1101051949123100２X",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseIDNumber(s)
		if err != nil {
			if !errors.Is(err, ErrIDNumberInvalid) || apperr.KindOf(err) != apperr.Invalid {
				t.Fatalf("foreign error %v", err)
			}
			if !id.IsZero() {
				t.Fatal("error with a non-zero IDNumber")
			}
			return
		}
		n := id.Reveal()
		if len(n) != 18 || mod11_2(n[:17]) != n[17] {
			t.Fatalf("ParseIDNumber(%q) accepted %q with a wrong check character", s, n)
		}
		if n[0] == '0' || !id.BirthDate().IsValid() || id.BirthDate().Year < 1900 {
			t.Fatalf("ParseIDNumber(%q) accepted bad region or birth date: %q", s, n)
		}
		again, err := ParseIDNumber(n)
		if err != nil || again != id {
			t.Fatalf("round trip of %q: %q, %v", n, again.Reveal(), err)
		}
		if !strings.EqualFold(strings.TrimSpace(s), n) {
			t.Fatalf("ParseIDNumber(%q) = %q is not the input", s, n)
		}
		if out := fmt.Sprint(id); out == n || strings.Contains(out, n[6:14]) {
			t.Fatalf("fmt.Sprint reveals %q", out)
		}
	})
}

func TestCompleteIDNumberParses(t *testing.T) {
	id := CompleteIDNumber("11010519491231002")
	if id != "11010519491231002X" {
		t.Fatalf("CompleteIDNumber = %s, want the published example 11010519491231002X", id)
	}
	if _, err := ParseIDNumber(id); err != nil {
		t.Fatal(err)
	}
}
