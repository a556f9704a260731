package main

import (
	"encoding/base64"
	"fmt"
	"unicode/utf8"

	"github.com/geomds/geomds/client"
	"github.com/spf13/cobra"
)

func (a *app) xattrCommand() *cobra.Command {
	return groupCommand("xattr", "get, set, list and remove extended attributes",
		a.xattrGetCommand(), a.xattrSetCommand(), a.xattrListCommand(), a.xattrRmCommand())
}

func (a *app) xattrGetCommand() *cobra.Command {
	return &cobra.Command{
		Use: "get PATH NAME", Short: "print an attribute's value", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			v, err := c.GetXattr(cmd.Context(), absPath(args[0]), args[1])
			if err != nil {
				return err
			}
			if a.json() {
				return a.printJSON(xattrValueJSON(args[1], v))
			}
			_, err = fmt.Fprintf(a.stdout, "%s\n", v)
			return err
		},
	}
}

// xattrValueJSON shows a value as text when it is UTF-8, else as base64.
func xattrValueJSON(name string, v []byte) map[string]string {
	if utf8.Valid(v) {
		return map[string]string{"name": name, "value": string(v)}
	}
	return map[string]string{"name": name, "value_base64": base64.StdEncoding.EncodeToString(v)}
}

func (a *app) xattrSetCommand() *cobra.Command {
	var create, replace bool
	cmd := &cobra.Command{
		Use: "set PATH NAME VALUE", Short: "set an attribute", Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			var flags uint32
			if create {
				flags |= client.XattrCreate
			}
			if replace {
				flags |= client.XattrReplace
			}
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			return c.SetXattr(cmd.Context(), absPath(args[0]), args[1], []byte(args[2]), flags)
		},
	}
	cmd.Flags().BoolVar(&create, "create", false, "fail if the attribute exists")
	cmd.Flags().BoolVar(&replace, "replace", false, "fail if the attribute does not exist")
	cmd.MarkFlagsMutuallyExclusive("create", "replace")
	return cmd
}

func (a *app) xattrListCommand() *cobra.Command {
	return &cobra.Command{
		Use: "list PATH", Short: "list attribute names", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			names, err := c.ListXattr(cmd.Context(), absPath(args[0]))
			if err != nil {
				return err
			}
			if a.json() {
				return a.printJSON(map[string][]string{"names": append([]string{}, names...)})
			}
			for _, n := range names {
				if _, err := fmt.Fprintln(a.stdout, n); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func (a *app) xattrRmCommand() *cobra.Command {
	return &cobra.Command{
		Use: "rm PATH NAME", Aliases: []string{"remove"}, Short: "remove an attribute", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			return c.RemoveXattr(cmd.Context(), absPath(args[0]), args[1])
		},
	}
}
