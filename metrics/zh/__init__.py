"""Chinese specifics: readings, Tongyici Cilin, confusion sets, char and word tokens."""
