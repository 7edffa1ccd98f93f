Rule files (*.yaml) loaded after vigil's embedded default pack, in lexical
order (docs/rules.md). A change is applied within a second, a broken set is
rejected with its file and line in `journalctl -u vigil`; check first with
`vigil rules validate /etc/vigil/rules.d`.
