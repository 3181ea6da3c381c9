package config

import (
	"fmt"
	"strings"
)

// Reference renders the configuration reference page from the struct tags,
// so docs/configuration.md is generated and a test keeps it current.
func Reference() string {
	var b strings.Builder
	b.WriteString("# Configuration reference\n\n")
	b.WriteString("<!-- Generated from internal/config by `go test ./internal/config -update`. Do not edit by hand. -->\n\n")
	b.WriteString("coupler reads, in increasing order of precedence: built-in defaults, the TOML file\n")
	b.WriteString("(`--config`, default `config.toml` in the data dir), `COUPLER_*` environment variables,\n")
	b.WriteString("and command-line flags (`--data-dir`, `--config`, `--database-url`, `--log-level`).\n")
	b.WriteString("An invalid value stops coupler with a message naming the key and what it accepts.\n\n")
	b.WriteString("| Key | Environment | Default | Meaning |\n|---|---|---|---|\n")
	for _, s := range Settings() {
		key := s.Key
		if key == "-" {
			key = "(flag `--data-dir`)"
		} else {
			key = "`" + key + "`"
		}
		def := s.Default
		if s.Env == "COUPLER_DATA_DIR" {
			def = "$XDG_DATA_HOME/coupler or ~/.local/share/coupler"
		}
		if def == "" {
			def = "(empty)"
		}
		doc := s.Doc
		if s.Allowed != "" {
			doc += " Allowed: " + strings.ReplaceAll(s.Allowed, ",", ", ") + "."
		}
		fmt.Fprintf(&b, "| %s | `%s` | `%s` | %s |\n", key, s.Env, def, doc)
	}
	b.WriteString("\nExample `config.toml`:\n\n```toml\nlog_level = \"info\"\n\n[http]\naddr = \"127.0.0.1:8080\"\npublic_url = \"https://coupler.example.com\"\n\n[sync]\ndefault_interval = \"30m\"\nworkers = 4\n```\n")
	return b.String()
}
