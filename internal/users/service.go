package users

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Store is what the service needs from persistence; store.Store has it.
type Store interface {
	CreateUser(ctx context.Context, u User) (User, error)
	UpdateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, id int64) (User, error)
	GetUserByEmail(ctx context.Context, email string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
}

// ErrBadCredentials is the one answer to a failed sign-in, whether the
// e-mail is unknown, the password wrong or the account disabled, so that
// sign-in does not reveal which accounts exist.
var ErrBadCredentials = errors.New("wrong e-mail or password")

// FieldError names the input that is wrong and how to fix it.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 12

// Service creates and authenticates users.
type Service struct {
	store Store
	log   *slog.Logger
	kdf   KDF
	now   func() time.Time
	dummy string // hash compared when the e-mail is unknown, to keep timing flat
}

// NewService returns a service over st; kdf zero means DefaultKDF.
func NewService(st Store, log *slog.Logger, kdf KDF) *Service {
	if kdf == (KDF{}) {
		kdf = DefaultKDF
	}
	dummy, _ := kdf.Hash("coupler-dummy-password")
	return &Service{store: st, log: log, kdf: kdf, now: time.Now, dummy: dummy}
}

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleAdmin, RoleOperator, RoleViewer:
		return r, nil
	}
	return "", &FieldError{Field: "role", Problem: fmt.Sprintf("%q is not a role; use admin, operator or viewer", s)}
}

// NormalizeEmail trims, lower-cases and validates an e-mail address.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.IndexByte(s, '@')+1:], ".") {
		return "", &FieldError{Field: "email", Problem: fmt.Sprintf("%q is not an e-mail address like name@example.com", s)}
	}
	return s, nil
}

// Create adds a user after validating every field.
func (s *Service) Create(ctx context.Context, email, name string, role Role, password string) (User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return User{}, err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return User{}, err
	}
	if utf8.RuneCountInString(password) < MinPasswordLength {
		return User{}, &FieldError{Field: "password", Problem: fmt.Sprintf("must be at least %d characters", MinPasswordLength)}
	}
	hash, err := s.kdf.Hash(password)
	if err != nil {
		return User{}, err
	}
	now := s.now().UTC()
	if strings.TrimSpace(name) == "" {
		name = email
	}
	u, err := s.store.CreateUser(ctx, User{Email: email, Name: strings.TrimSpace(name), Role: role, PasswordHash: hash, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		return User{}, fmt.Errorf("create user %s: %w", email, err)
	}
	s.log.InfoContext(ctx, "user created", "email", email, "role", role)
	return u, nil
}

// Authenticate returns the user whose e-mail and password match.
func (s *Service) Authenticate(ctx context.Context, email, password string) (User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	u, err := s.store.GetUserByEmail(ctx, email)
	if err != nil {
		_, _ = Verify(s.dummy, password)
		return User{}, ErrBadCredentials
	}
	ok, err := Verify(u.PasswordHash, password)
	if err != nil {
		return User{}, fmt.Errorf("user %s: %w", email, err)
	}
	if !ok || u.Disabled {
		return User{}, ErrBadCredentials
	}
	return u, nil
}

// Get returns one user by id.
func (s *Service) Get(ctx context.Context, id int64) (User, error) { return s.store.GetUser(ctx, id) }

// List returns every user.
func (s *Service) List(ctx context.Context) ([]User, error) { return s.store.ListUsers(ctx) }

// Can reports whether role r may perform an action needing at least min.
func (r Role) Can(min Role) bool { return rank(r) >= rank(min) }

func rank(r Role) int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleOperator:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}
