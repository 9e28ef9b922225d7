"""The only package that holds SQL: schema, migrations, connections and repositories."""
