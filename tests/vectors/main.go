// Command vectors prints, as JSON, how kubectl and the API server read YAML and JSON scalars:
// sigs.k8s.io/yaml (go-yaml v2, then JSON), then the API server's JSON decoding
// (sigs.k8s.io/json, strict) into the Go types podwall's fields have (int32, IntOrString,
// string, bool). podwall's tests compare its reader against the output (vectors.json).
//
// Not run by the test suite: see README.md in this directory for how to regenerate.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"

	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// IntOrString decodes as k8s.io/apimachinery/pkg/util/intstr.IntOrString.UnmarshalJSON does
// (apimachinery is not packaged in Debian; this is its whole decoding logic).
type IntOrString struct {
	IsString bool
	IntVal   int32
	StrVal   string
}

func (i *IntOrString) UnmarshalJSON(value []byte) error {
	if value[0] == '"' {
		i.IsString = true
		return json.Unmarshal(value, &i.StrVal)
	}
	return json.Unmarshal(value, &i.IntVal)
}

type tInt struct {
	V *int32 `json:"v"`
}
type tIOS struct {
	V *IntOrString `json:"v"`
}
type tStr struct {
	V *string `json:"v"`
}
type tBool struct {
	V *bool `json:"v"`
}
type tMap struct {
	V map[string]string `json:"v"`
}

// kubectl decodes a manifest into unstructured (ints preserved) and sends it re-encoded;
// the API server decodes that strictly into the typed object.
func serverDecode(j []byte, out interface{}) (interface{}, error) {
	var u interface{}
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(j, &u); err != nil {
		return nil, err
	}
	wire, err := json.Marshal(u)
	if err != nil {
		return nil, err
	}
	strict, err := sigsjson.UnmarshalStrict(wire, out)
	if err != nil {
		return nil, err
	}
	if len(strict) > 0 {
		return nil, strict[0]
	}
	return out, nil
}

func typed(j []byte) map[string]interface{} {
	res := map[string]interface{}{}
	one := func(name string, out interface{}, get func() interface{}) {
		if _, err := serverDecode(j, out); err != nil {
			res[name] = map[string]string{"error": err.Error()}
		} else {
			res[name] = map[string]interface{}{"value": get()}
		}
	}
	var a tInt
	one("int32", &a, func() interface{} {
		if a.V == nil {
			return nil
		}
		return *a.V
	})
	var b tIOS
	one("intorstr", &b, func() interface{} {
		if b.V == nil {
			return nil
		}
		if b.V.IsString {
			return b.V.StrVal
		}
		return b.V.IntVal
	})
	var c tStr
	one("string", &c, func() interface{} {
		if c.V == nil {
			return nil
		}
		return *c.V
	})
	var d tBool
	one("bool", &d, func() interface{} {
		if d.V == nil {
			return nil
		}
		return *d.V
	})
	return res
}

var scalars = []string{
	// ints: bases, signs, leading zeros, underscores, limits
	"80", "+80", "-80", "0", "-0", "+0", "00", "0080", "0123", "08", "09.5", "0o120", "0O120", "0o8", "0x1F", "0X1f",
	"-0x1F", "+0x1F", "0x", "0b101", "0B101", "-0b101", "0b102", "1_000", "1__0", "_1000", "0x_1F", "0b1_01",
	"2147483647", "2147483648", "-2147483648", "-2147483649", "9223372036854775807", "9223372036854775808",
	"18446744073709551615", "18446744073709551616", "-9223372036854775809", "65535", "65536",
	// floats
	"80.0", "80.", "80.5", "+80.0", "-80.0", ".5", "-.5", "+.5", "1e3", "1E3", "1e+3", "1e-3", "1.5e3", "8e1",
	"2372039e9", "5e10", "1e21", "1e400", "-1e400", "1_0.5", "0.0", "-0.0", ".e3", "1e", "1.2.3", "0x1p-2", "1e3_0",
	".inf", ".Inf", ".INF", "+.inf", "-.inf", "-.Inf", ".iNf", "inf", "Infinity", ".nan", ".NaN", ".NAN", "nan", "NaN",
	// booleans, YAML 1.1 and 1.2
	"y", "Y", "yes", "Yes", "YES", "yEs", "n", "N", "no", "No", "NO", "nO", "on", "On", "ON", "oN", "off", "Off", "OFF",
	"oFF", "true", "True", "TRUE", "tRUE", "false", "False", "FALSE", "t", "f",
	// nulls
	"~", "null", "Null", "NULL", "nULL", "", "\"\"", "''",
	// timestamps and base 60
	"2024-01-01", "2024-1-1", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10", "2001-12-14T21:59:43Z",
	"10:30", "1:20:30", "190:20:30.15",
	// quoted and tagged
	"\"80\"", "'80'", "\"yes\"", "!!str 80", "!!str yes", "!!int \"80\"", "!!float \"80\"", "!!float 80", "!!int 80.5",
	"!!bool \"yes\"", "!!binary aGVsbG8=", "!!binary /w==", "!!binary '!!!'", "!!null ''",
	// strings that look close
	"1.0.0", "v1", "0x1G", "1-2", "80/TCP", "=", "<<", "-", "+", ".", "..", "0.", "-.", "+-1", "1e-", "12e3e4",
	"5d8f6b7c9", "6bc7f9f4d", "7d4b9c8f6",
}

var documents = []struct{ name, yaml string }{
	{"merge key", "base: &b\n  a: 1\n  b: 2\nv:\n  <<: *b\n  b: 3\n"},
	{"merge key list", "x: &x {a: 1}\ny: &y {a: 2, c: 3}\nv:\n  <<: [*x, *y]\n"},
	{"duplicate key", "v: 1\nv: 2\n"},
	{"duplicate nested key", "v:\n  a: 1\n  b: 2\n  a: 3\n"},
	{"duplicate key after resolution", "v:\n  80: a\n  \"80\": b\n"},
	{"int key", "v:\n  80: a\n"},
	{"float key", "v:\n  1.5: a\n  1e3: b\n"},
	{"float keys at float32 precision", "v:\n  1e100: a\n  123456789.0: b\n  1e-7: c\n  2372039e9: d\n  1e6: e\n  -0.0: f\n"},
	{"bool key", "v:\n  yes: a\n  off: b\n"},
	{"null key", "v:\n  ~: a\n"},
	{"flow", "v: {a: [1, 2, {b: c}], d: {}}\n"},
	{"long string", "v: " + strings.Repeat("a", 5000) + "\n"},
	{"binary invalid utf8", "v: !!binary /w==\n"},
	{"nan", "v: .nan\n"},
	{"inf", "v: .inf\n"},
	{"empty document", ""},
	{"comment only", "# nothing\n"},
	{"crlf", "v: 80\r\nw: yes\r\n"},
}

var jsonNumbers = []string{
	"80", "80.0", "80.5", "1e3", "1E3", "1.0e2", "-0", "-0.0", "2147483648", "1e21", "9223372036854775808",
	"\"80\"", "true", "null", "0.1e1",
}

func main() {
	out := map[string]interface{}{"go": runtime.Version()}
	var sv []map[string]interface{}
	for _, s := range scalars {
		doc := "v: " + s + "\n"
		row := map[string]interface{}{"yaml": s}
		j, err := yaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			row["error"] = err.Error()
		} else {
			row["json"] = string(j)
			for k, v := range typed(j) {
				row[k] = v
			}
		}
		sv = append(sv, row)
	}
	out["scalars"] = sv
	var dv []map[string]interface{}
	for _, d := range documents {
		row := map[string]interface{}{"name": d.name, "yaml": d.yaml}
		j, err := yaml.YAMLToJSONStrict([]byte(d.yaml))
		if err != nil {
			row["error"] = err.Error()
		} else {
			row["json"] = string(j)
		}
		dv = append(dv, row)
	}
	out["documents"] = dv
	var jv []map[string]interface{}
	for _, n := range jsonNumbers {
		row := map[string]interface{}{"json": n}
		for k, v := range typed([]byte(`{"v": ` + n + `}`)) {
			row[k] = v
		}
		jv = append(jv, row)
	}
	out["json_numbers"] = jv
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
