import SkiffCLI

await SkiffCommand.main()
