"""Reading files: YAML (:mod:`.yamlfile`), timestamps (:mod:`.timestamps`), CloudFormation templates (:mod:`.cloudformation`)."""
