package diag

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Format is an output format shared by every command.
type Format string

const (
	Text   Format = "text"
	JSON   Format = "json"
	GitHub Format = "github"
)

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case Text, JSON, GitHub:
		return Format(s), nil
	}
	return "", fmt.Errorf("unknown format %q (want text, json or github)", s)
}

// PrintText writes one line per diagnostic.
func PrintText(w io.Writer, l List) error {
	for _, d := range l {
		prefix := ""
		if d.Severity != Error {
			prefix = string(d.Severity) + ": "
		}
		if _, err := fmt.Fprintf(w, "%s%s\n", prefix, d.String()); err != nil {
			return err
		}
	}
	return nil
}

// PrintGitHub writes GitHub Actions workflow commands, one per diagnostic,
// so findings appear as annotations on the pull request's files.
func PrintGitHub(w io.Writer, l List) error {
	for _, d := range l {
		level := "error"
		switch d.Severity {
		case Warning:
			level = "warning"
		case Info:
			level = "notice"
		}
		var props []string
		if d.Pos.File != "" {
			props = append(props, "file="+escapeProp(d.Pos.File))
			if d.Pos.Line > 0 {
				props = append(props, fmt.Sprintf("line=%d", d.Pos.Line))
			}
			if d.Pos.Col > 0 {
				props = append(props, fmt.Sprintf("col=%d", d.Pos.Col))
			}
		}
		props = append(props, "title="+escapeProp("fleetc "+d.Code))
		msg := d.Message
		if d.Path != "" {
			msg = d.Path + ": " + msg
		}
		for _, r := range d.Related {
			if r.IsValid() {
				msg += " (see " + r.String() + ")"
			}
		}
		if _, err := fmt.Fprintf(w, "::%s %s::%s\n", level, strings.Join(props, ","), escapeData(msg)); err != nil {
			return err
		}
	}
	return nil
}

// PrintJSON writes {"diagnostics":[...]} with an empty array rather than null.
func PrintJSON(w io.Writer, l List) error {
	if l == nil {
		l = List{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Diagnostics List `json:"diagnostics"`
	}{l})
}

// Print writes l in format f.
func Print(w io.Writer, f Format, l List) error {
	switch f {
	case JSON:
		return PrintJSON(w, l)
	case GitHub:
		return PrintGitHub(w, l)
	}
	return PrintText(w, l)
}

// Escaping rules of GitHub workflow commands.
func escapeData(s string) string {
	s = strings.ReplaceAll(s, "%", "%25")
	s = strings.ReplaceAll(s, "\r", "%0D")
	return strings.ReplaceAll(s, "\n", "%0A")
}

func escapeProp(s string) string {
	s = escapeData(s)
	s = strings.ReplaceAll(s, ":", "%3A")
	return strings.ReplaceAll(s, ",", "%2C")
}
