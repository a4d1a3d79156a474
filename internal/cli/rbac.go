package cli

import "strings"

// permission is what one command needs in the namespace: verbs on a resource of the
// backup.liferay.cloud group, or of the core group for events.
type permission struct {
	resource string
	verbs    []string
}

func (p permission) String() string { return p.resource + " " + strings.Join(p.verbs, "/") }

// commandPermissions is the RBAC each command needs; docs/plugin.md#rbac shows the
// same table (a test keeps them equal). A command never asks the API server for
// more. Optional parts are in optionalPermissions.
var commandPermissions = []struct {
	command string
	needs   []permission
}{
	{"backup create", []permission{{"backuprequests", []string{"create", "list"}}, {"backupschedules", []string{"get", "list"}}}},
	{"backup create --wait", []permission{{"backuprequests", []string{"create", "list", "watch"}}, {"backupschedules", []string{"get", "list"}}}},
	{"backup list", []permission{{"backuprequests", []string{"list"}}}},
	{"backup describe", []permission{{"backuprequests", []string{"get"}}, {"events", []string{"list"}}}},
	{"backup verify", []permission{{"backuprequests", []string{"get"}}, {"restorerequests", []string{"create", "watch"}}}},
	{"restore create", []permission{{"backuprequests", []string{"get"}}, {"restorerequests", []string{"create"}}}},
	{"restore create --wait", []permission{{"backuprequests", []string{"get"}}, {"restorerequests", []string{"create", "watch"}}}},
	{"restore list", []permission{{"restorerequests", []string{"list"}}}},
	{"restore describe", []permission{{"restorerequests", []string{"get"}}, {"events", []string{"list"}}}},
	{"schedule list", []permission{{"backupschedules", []string{"list"}}}},
	{"schedule describe", []permission{{"backupschedules", []string{"get"}}, {"backuprequests", []string{"list"}}, {"events", []string{"list"}}}},
	{"schedule suspend", []permission{{"backupschedules", []string{"patch"}}}},
	{"schedule resume", []permission{{"backupschedules", []string{"patch"}}}},
	{"schedule run-now", []permission{{"backupschedules", []string{"get"}}, {"backuprequests", []string{"create"}}}},
	{"schedule run-now --wait", []permission{{"backupschedules", []string{"get"}}, {"backuprequests", []string{"create", "watch"}}}},
}

// permissionsOf is the RBAC of the command at path ("kubectl lc2 backup list").
func permissionsOf(path string) (string, bool) {
	cmd := strings.TrimPrefix(path, "kubectl lc2 ")
	for _, c := range commandPermissions {
		if c.command == cmd {
			parts := make([]string, len(c.needs))
			for i, p := range c.needs {
				parts[i] = p.String()
			}
			return strings.Join(parts, ", "), true
		}
	}
	return "", false
}
