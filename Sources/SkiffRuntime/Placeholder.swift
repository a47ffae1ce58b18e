// SkiffRuntime
