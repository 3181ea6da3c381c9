// Package users holds coupler's own users: the people who sign in to its web
// UI and API, their roles and their mapping to CRM users.
package users

import "time"

// Role is what a user may do.
type Role string

const (
	RoleAdmin    Role = "admin"
	RoleOperator Role = "operator"
	RoleViewer   Role = "viewer"
)

// User is one local account.
type User struct {
	ID           int64
	Email        string
	Name         string
	Role         Role
	PasswordHash string // KDF output with its parameters; never the password
	CRMUserID    string // systemuserid matched by e-mail, empty when unmapped
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}
