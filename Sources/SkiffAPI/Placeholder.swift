// SkiffAPI
