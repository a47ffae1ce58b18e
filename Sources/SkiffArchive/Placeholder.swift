// SkiffArchive
