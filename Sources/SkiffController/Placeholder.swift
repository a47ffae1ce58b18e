// SkiffController
