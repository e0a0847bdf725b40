package store

import (
	"context"
	"errors"
	"testing"
)

func TestUsersSQLite(t *testing.T)   { testUsers(t, openSQLite(t)) }
func TestUsersPostgres(t *testing.T) { testUsers(t, openPostgres(t)) }

func testUsers(t *testing.T, s Store) {
	ctx := context.Background()
	const hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	if _, err := s.User(ctx, "anna"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing user: %v, want ErrNotFound", err)
	}
	for _, bad := range []User{
		{Name: "", Role: "operator", Lang: "ru", PasswordHash: hash},
		{Name: "a b", Role: "operator", Lang: "ru", PasswordHash: hash},
		{Name: "anna", Role: "", Lang: "ru", PasswordHash: hash},
		{Name: "anna", Role: "operator", Lang: "de", PasswordHash: hash},
		{Name: "anna", Role: "operator", Lang: "ru", PasswordHash: "plain"},
	} {
		if err := s.PutUser(ctx, bad); err == nil {
			t.Errorf("PutUser(%+v) accepted", bad)
		}
	}
	if err := s.PutUser(ctx, User{Name: "boris", Role: "admin", Lang: "en", PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutUser(ctx, User{Name: "anna", Role: "operator", Lang: "ru", PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	first, err := s.User(ctx, "anna")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutUser(ctx, User{Name: "anna", Role: "supervisor", Lang: "en", PasswordHash: hash, Disabled: true}); err != nil {
		t.Fatal(err)
	}
	u, err := s.User(ctx, "anna")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != "supervisor" || u.Lang != "en" || !u.Disabled || u.PasswordHash != hash || !u.CreatedAt.Equal(first.CreatedAt) {
		t.Fatalf("replaced user = %+v (created first %v)", u, first.CreatedAt)
	}
	all, err := s.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Name != "anna" || all[1].Name != "boris" || all[1].Disabled {
		t.Fatalf("Users = %+v", all)
	}
	if err := s.DeleteUser(ctx, "anna"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.User(ctx, "anna"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted user: %v, want ErrNotFound", err)
	}
	if err := s.DeleteUser(ctx, "anna"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting a missing user: %v, want ErrNotFound", err)
	}
	if all, err := s.Users(ctx); err != nil || len(all) != 1 || all[0].Name != "boris" {
		t.Fatalf("Users after delete = %+v, %v", all, err)
	}
}
