package main

import (
	"os/user"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

func (a *app) chownCommand() *cobra.Command {
	return &cobra.Command{
		Use: "chown UID[:GID] PATH...", Short: "change owner and group (numeric, or local user/group names)", Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			uid, gid, err := parseOwner(args[0])
			if err != nil {
				return err
			}
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			return a.each(args[1:], func(p string) error { return c.Chown(cmd.Context(), absPath(p), uid, gid) })
		},
	}
}

// parseOwner parses OWNER[:GROUP], ":GROUP" or "OWNER:"; an absent part is
// -1 (unchanged). Names are looked up in the local user database.
func parseOwner(spec string) (uid, gid int, err error) {
	owner, group, _ := strings.Cut(spec, ":")
	if owner == "" && group == "" {
		return 0, 0, usagef("owner %q: want UID[:GID]", spec)
	}
	if uid, err = parseID(owner, lookupUser); err != nil {
		return 0, 0, err
	}
	if gid, err = parseID(group, lookupGroup); err != nil {
		return 0, 0, err
	}
	return uid, gid, nil
}

func parseID(s string, lookup func(string) (string, error)) (int, error) {
	if s == "" {
		return -1, nil
	}
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return int(n), nil
	}
	id, err := lookup(s)
	if err != nil {
		return 0, usagef("unknown user or group %q", s)
	}
	n, err := strconv.Atoi(id)
	if err != nil {
		return 0, usagef("non-numeric id %q for %q", id, s)
	}
	return n, nil
}

func lookupUser(name string) (string, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return "", err
	}
	return u.Uid, nil
}

func lookupGroup(name string) (string, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return "", err
	}
	return g.Gid, nil
}
