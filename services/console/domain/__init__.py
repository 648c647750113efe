"""Pure view-model code of the console: what each page shows, computed from the owning services' answers."""
