// SkiffServer
