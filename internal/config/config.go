// Package config loads coupler's settings from a TOML file, COUPLER_*
// environment variables and command-line flags, in that order of precedence
// (flags win), and validates them so that a bad value stops the program with
// one message naming the key.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is every setting coupler reads at start. Each field carries its TOML
// key, its environment variable and a one-line description, so that the
// configuration reference in docs/ is generated from this struct and cannot
// drift from it.
type Config struct {
	DataDir     string `toml:"-" env:"COUPLER_DATA_DIR" doc:"Directory holding the SQLite database, the encryption key file and config.toml."`
	DatabaseURL string `toml:"database_url" env:"COUPLER_DATABASE_URL" doc:"postgres://… to use PostgreSQL instead of the embedded SQLite file in the data dir."`
	LogLevel    string `toml:"log_level" env:"COUPLER_LOG_LEVEL" doc:"Minimum level of log lines: debug, info, warn or error." allowed:"debug,info,warn,error"`
	LogFormat   string `toml:"log_format" env:"COUPLER_LOG_FORMAT" doc:"auto (text on a terminal, JSON otherwise), text or json." allowed:"auto,text,json"`

	HTTP   HTTPConfig   `toml:"http"`
	Sync   SyncConfig   `toml:"sync"`
	Memory MemoryConfig `toml:"memory"`
}

// HTTPConfig is the web server's part of the configuration.
type HTTPConfig struct {
	Addr            string        `toml:"addr" env:"COUPLER_HTTP_ADDR" doc:"host:port the web UI, REST API and metrics listen on."`
	PublicURL       string        `toml:"public_url" env:"COUPLER_HTTP_PUBLIC_URL" doc:"URL users and the CRM reach coupler at (used for the item availability OData URL); empty means http://{addr}."`
	ShutdownTimeout time.Duration `toml:"shutdown_timeout" env:"COUPLER_HTTP_SHUTDOWN_TIMEOUT" doc:"How long a stop waits for in-flight requests and jobs to finish."`
}

// SyncConfig holds defaults of the synchronisation engine.
type SyncConfig struct {
	DefaultInterval time.Duration `toml:"default_interval" env:"COUPLER_SYNC_DEFAULT_INTERVAL" doc:"Schedule of a mapping that names none (Business Central's default is 30 minutes)."`
	Workers         int           `toml:"workers" env:"COUPLER_SYNC_WORKERS" doc:"Jobs this instance runs at once."`
	ChunkRecords    int           `toml:"chunk_records" env:"COUPLER_SYNC_CHUNK_RECORDS" doc:"On PostgreSQL, a full synchronisation of a table of at least twice this many records is divided into key-range jobs of about this many, which every instance takes; 0 runs each table as one job. SQLite ignores it."`
}

// MemoryConfig holds how the process uses memory.
type MemoryConfig struct {
	HeapFloorMB int `toml:"heap_floor_mb" env:"COUPLER_MEMORY_HEAP_FLOOR_MB" doc:"The Go heap may grow to this many MiB before garbage is collected (a synchronisation's live heap is small and its garbage plentiful: fewer collections cost less CPU); a live heap past half of it is collected at the runtime's default pace. Lowered to a quarter of the container's memory limit and half of GOMEMLIMIT; 0, or GOGC set in the environment, leaves the runtime's default."`
}

// Default returns the configuration used when nothing overrides it.
func Default() Config {
	return Config{
		DataDir:   DefaultDataDir(),
		LogLevel:  "info",
		LogFormat: "auto",
		HTTP: HTTPConfig{
			Addr:            "127.0.0.1:8080",
			ShutdownTimeout: 30 * time.Second,
		},
		Sync: SyncConfig{
			DefaultInterval: 30 * time.Minute,
			Workers:         4,
			ChunkRecords:    25000,
		},
		Memory: MemoryConfig{HeapFloorMB: 128},
	}
}

// DefaultDataDir is $XDG_DATA_HOME/coupler, else ~/.local/share/coupler.
func DefaultDataDir() string {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "coupler")
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return filepath.Join(".", ".coupler")
	}
	return filepath.Join(home, ".local", "share", "coupler")
}

// Error names the configuration key that is wrong and what it accepts.
type Error struct {
	Key     string // TOML key or environment variable
	Value   string
	Problem string
}

func (e *Error) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("invalid configuration %s: %s", e.Key, e.Problem)
	}
	return fmt.Sprintf("invalid configuration %s = %q: %s", e.Key, e.Value, e.Problem)
}

// Load builds the configuration: defaults, then the file (path, or
// config.toml in dataDir when path is empty; a missing default file is
// fine, a missing explicit one is not), then the environment. Flags are
// applied by the caller afterwards, followed by Validate.
func Load(path, dataDir string, env func(string) string) (Config, error) {
	cfg := Default()
	if dataDir == "" {
		dataDir = env("COUPLER_DATA_DIR")
	}
	if dataDir != "" {
		cfg.DataDir = dataDir
	}
	explicit := path != ""
	if !explicit {
		if p := env("COUPLER_CONFIG"); p != "" {
			path, explicit = p, true
		} else {
			path = filepath.Join(cfg.DataDir, "config.toml")
		}
	}
	if err := loadFile(&cfg, path, explicit); err != nil {
		return cfg, err
	}
	if err := applyEnv(reflect.ValueOf(&cfg).Elem(), env); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func loadFile(cfg *Config, path string, explicit bool) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read configuration file: %w", err)
	}
	md, err := toml.Decode(string(data), cfg)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return fmt.Errorf("configuration file %s: %s", path, parseMessage(perr, string(data)))
		}
		return fmt.Errorf("configuration file %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return &Error{Key: und[0].String(), Problem: fmt.Sprintf("unknown key in %s; known keys: %s", path, strings.Join(Keys(), ", "))}
	}
	return nil
}

// parseMessage is the TOML error with the lines around it when the
// library knows where it is. For some inputs it reports line 0 (an
// unterminated string ending in a backslash: `"\`), on which its
// ErrorWithPosition panics; the message alone is given then.
func parseMessage(perr toml.ParseError, input string) string {
	p := perr.Position
	if p.Line < 1 || p.Line > strings.Count(input, "\n")+1 || p.Col < 1 {
		return perr.Error()
	}
	return perr.ErrorWithPosition()
}

// applyEnv overrides fields from their env tag.
func applyEnv(v reflect.Value, env func(string) string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, fv := t.Field(i), v.Field(i)
		if f.Type.Kind() == reflect.Struct {
			if err := applyEnv(fv, env); err != nil {
				return err
			}
			continue
		}
		name := f.Tag.Get("env")
		if name == "" || name == "COUPLER_DATA_DIR" {
			continue
		}
		raw := env(name)
		if raw == "" {
			continue
		}
		if err := setValue(fv, raw); err != nil {
			return &Error{Key: name, Value: raw, Problem: err.Error()}
		}
	}
	return nil
}

func setValue(fv reflect.Value, raw string) error {
	switch fv.Interface().(type) {
	case string:
		fv.SetString(raw)
	case time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return errors.New("not a duration; write it like 30s, 5m or 1h30m")
		}
		fv.SetInt(int64(d))
	case int:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return errors.New("not a whole number")
		}
		fv.SetInt(int64(n))
	case bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return errors.New("not true or false")
		}
		fv.SetBool(b)
	default:
		return fmt.Errorf("unsupported type %s", fv.Type())
	}
	return nil
}

// Validate checks every value and returns the first problem as *Error.
func (c *Config) Validate() error {
	if err := checkAllowed(reflect.ValueOf(c).Elem(), ""); err != nil {
		return err
	}
	if c.DataDir == "" {
		return &Error{Key: "data_dir", Problem: "must not be empty; pass --data-dir or set COUPLER_DATA_DIR"}
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return &Error{Key: "database_url", Value: redactURL(c.DatabaseURL), Problem: "must be a postgres://user@host:port/dbname URL, or empty for the embedded SQLite database"}
		}
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		return &Error{Key: "http.addr", Value: c.HTTP.Addr, Problem: "must be host:port, for example 127.0.0.1:8080 or :8080"}
	}
	if c.HTTP.PublicURL != "" {
		u, err := url.Parse(c.HTTP.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &Error{Key: "http.public_url", Value: c.HTTP.PublicURL, Problem: "must be an absolute http:// or https:// URL"}
		}
	}
	if c.HTTP.ShutdownTimeout <= 0 {
		return &Error{Key: "http.shutdown_timeout", Value: c.HTTP.ShutdownTimeout.String(), Problem: "must be a positive duration such as 30s"}
	}
	if c.Sync.DefaultInterval < time.Minute {
		return &Error{Key: "sync.default_interval", Value: c.Sync.DefaultInterval.String(), Problem: "must be at least 1m"}
	}
	if c.Sync.Workers < 1 || c.Sync.Workers > 100 {
		return &Error{Key: "sync.workers", Value: strconv.Itoa(c.Sync.Workers), Problem: "must be between 1 and 100"}
	}
	if c.Sync.ChunkRecords != 0 && c.Sync.ChunkRecords < 1000 {
		return &Error{Key: "sync.chunk_records", Value: strconv.Itoa(c.Sync.ChunkRecords), Problem: "must be 0 (off) or at least 1000 (smaller chunks cost more in job round trips than they gain)"}
	}
	if c.Memory.HeapFloorMB != 0 && (c.Memory.HeapFloorMB < 16 || c.Memory.HeapFloorMB > 1<<16) {
		return &Error{Key: "memory.heap_floor_mb", Value: strconv.Itoa(c.Memory.HeapFloorMB), Problem: "must be 0 (the runtime's default pace) or between 16 and 65536 (MiB)"}
	}
	return nil
}

func checkAllowed(v reflect.Value, prefix string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, fv := t.Field(i), v.Field(i)
		key := prefix + f.Tag.Get("toml")
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
			if err := checkAllowed(fv, key+"."); err != nil {
				return err
			}
			continue
		}
		allowed := f.Tag.Get("allowed")
		if allowed == "" {
			continue
		}
		val := fv.String()
		ok := false
		for _, a := range strings.Split(allowed, ",") {
			ok = ok || a == val
		}
		if !ok {
			return &Error{Key: key, Value: val, Problem: "allowed values are " + strings.ReplaceAll(allowed, ",", ", ")}
		}
	}
	return nil
}

// redactURL hides a password in a database URL before it is shown.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// Setting describes one configuration key for the generated reference.
type Setting struct {
	Key, Env, Doc, Default, Allowed string
}

// Settings lists every key with its environment variable, description and
// default, in declaration order.
func Settings() []Setting {
	var out []Setting
	walk(reflect.ValueOf(Default()), "", &out)
	return out
}

// Keys lists every TOML key.
func Keys() []string {
	var keys []string
	for _, s := range Settings() {
		if s.Key != "-" && s.Key != "" {
			keys = append(keys, s.Key)
		}
	}
	return keys
}

func walk(v reflect.Value, prefix string, out *[]Setting) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, fv := t.Field(i), v.Field(i)
		key := f.Tag.Get("toml")
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
			walk(fv, prefix+key+".", out)
			continue
		}
		if key == "-" {
			key = "-"
		} else {
			key = prefix + key
		}
		*out = append(*out, Setting{Key: key, Env: f.Tag.Get("env"), Doc: f.Tag.Get("doc"), Default: fmt.Sprint(fv.Interface()), Allowed: f.Tag.Get("allowed")})
	}
}
