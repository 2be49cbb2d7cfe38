"""Labels and what surrounds them: catalog queries, pictures, the queue, annotations, taxonomy, accounts, proposals."""
