// Package scaleout holds the tests of several coupler instances sharing one
// PostgreSQL database: periodic jobs fire once (River's leader election), a
// crashed instance's job is finished by another (River's rescue of stuck
// jobs), and the API request budget is shared (internal/ratelimit).
package scaleout
