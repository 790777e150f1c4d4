"""The small Qwen-named module tree (model.language_model.layers[i].self_attn.{q,v}_proj, mlp.down_proj) on which
make_lora_fixtures.py builds its PEFT adapter and make_lora_load_check.py loads ours back: one definition, so
both scripts see the same module names and shapes."""
import torch


class Attn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.q_proj = torch.nn.Linear(32, 32, bias=False)
        self.v_proj = torch.nn.Linear(32, 16, bias=False)


class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.down_proj = torch.nn.Linear(64, 32, bias=False)


class Layer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attn = Attn()
        self.mlp = Mlp()


class Lm(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList([Layer(), Layer()])


class Top(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.language_model = Lm()


class Root(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.model = Top()
